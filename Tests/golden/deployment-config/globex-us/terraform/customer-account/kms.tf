# The tenant's customer master key, owned by the customer. Its policy grants the vendor's
# tenant roles the use of the key (never its administration): revoking that statement or
# disabling the key cuts the vendor off from the tenant's data. It is a multi-region key so that
# stores in other allowed regions use a replica of the same key. A `keyRef` ARN names a key the
# customer already has (a multi-region key where stores are in other regions); it is not created here.
locals {
  cmk_primary_arn = aws_kms_key.cmk.arn
  cmk_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::123456789012:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid    = "VendorTenantRolesUse"
        Effect = "Allow"
        Principal = { AWS = [
          "arn:aws:iam::${var.vendor_account_id}:role/vpt-globex-us-control-plane",
          "arn:aws:iam::${var.vendor_account_id}:role/vpt-globex-us-data-plane",
          "arn:aws:iam::123456789012:role/vpt-globex-us-access",
        ] }
        Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource = "*"
      },
    ]
  })
}

resource "aws_kms_key" "cmk" {
  provider                = aws.us_east_1
  description             = "vpt tenant globex-us master key"
  multi_region            = true
  enable_key_rotation     = true
  rotation_period_in_days = 180
  deletion_window_in_days = 30
  policy                  = local.cmk_policy
}

resource "aws_kms_alias" "cmk" {
  provider      = aws.us_east_1
  name          = "alias/globex-feature-platform"
  target_key_id = aws_kms_key.cmk.key_id
}

resource "aws_kms_replica_key" "us_west_2" {
  provider                = aws.us_west_2
  description             = "vpt tenant globex-us master key"
  primary_key_arn         = local.cmk_primary_arn
  deletion_window_in_days = 30
  policy                  = local.cmk_policy
}
