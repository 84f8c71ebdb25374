output "cross_account_role_arn" {
  description = "The role the tenant's data plane assumes (with the external ID)."
  value       = aws_iam_role.vendor_access.arn
}

output "offline_store_bucket" {
  description = "The offline store bucket."
  value       = aws_s3_bucket.offline.id
}

output "online_store_table" {
  description = "The online store table."
  value       = aws_dynamodb_table.online.name
}
