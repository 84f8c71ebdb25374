output "vpc_id" {
  description = "The tenant's VPC."
  value       = aws_vpc.tenant.id
}

output "private_subnet_ids" {
  description = "The two private subnets, one per availability zone."
  value       = aws_subnet.private[*].id
}

output "control_plane_role_arn" {
  description = "Role of the control plane's Kubernetes service account."
  value       = aws_iam_role.control_plane.arn
}

output "data_plane_role_arn" {
  description = "Role of the data plane's Kubernetes service account; the customer's cross-account role trusts it."
  value       = aws_iam_role.data_plane.arn
}

output "cmk_arns" {
  description = "The tenant's customer master key and its replicas, by region (the customer configuration's cmk_arns input)."
  value       = local.cmk_arns
}

output "feature_server_endpoint_service" {
  description = "PrivateLink service name the customer's VPC endpoint connects to."
  value       = aws_vpc_endpoint_service.feature_server.service_name
}
