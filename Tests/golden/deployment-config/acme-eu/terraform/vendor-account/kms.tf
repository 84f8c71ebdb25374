# The tenant's customer master key, managed by the vendor: automatic rotation on, and a key
# policy that names the account root, the tenant's roles and the customer account (whose stores
# it encrypts) — no wildcard principal. It is a multi-region key so that stores in other allowed
# regions use a replica of the same key.
locals {
  cmk_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${var.vendor_account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid    = "TenantUse"
        Effect = "Allow"
        Principal = { AWS = [
          "arn:aws:iam::${var.vendor_account_id}:role/vpt-acme-eu-control-plane",
          "arn:aws:iam::${var.vendor_account_id}:role/vpt-acme-eu-data-plane",
          "arn:aws:iam::210987654321:root",
        ] }
        Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
        Resource = "*"
      },
      {
        Sid       = "FlowLogEncryption"
        Effect    = "Allow"
        Principal = { Service = "logs.eu-west-1.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:eu-west-1:${var.vendor_account_id}:*" } }
      },
    ]
  })
}

resource "aws_kms_key" "cmk" {
  description             = "vpt tenant acme-eu master key"
  multi_region            = true
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = local.cmk_policy
}

resource "aws_kms_alias" "cmk" {
  name          = "alias/vpt-acme-eu"
  target_key_id = aws_kms_key.cmk.key_id
}
