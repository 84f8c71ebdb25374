# The online store (serving): one DynamoDB table per tenant, keyed by feature view and entity,
# encrypted with the tenant's key, with point-in-time recovery.
resource "aws_dynamodb_table" "online" {
  provider     = aws.eu_west_1
  name         = "vpt-acme-eu-online"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "entity_key"
  range_key    = "feature_view"

  attribute {
    name = "entity_key"
    type = "S"
  }

  attribute {
    name = "feature_view"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = local.cmk_arns["eu-west-1"]
  }

  point_in_time_recovery {
    enabled = true
  }

  deletion_protection_enabled = true
}
