variable "vendor_account_id" {
  description = "The tenant's dedicated vendor account, whose data plane role this account trusts."
  type        = string
  default     = "900000000042"
  validation {
    condition     = can(regex("^[0-9]{12}$", var.vendor_account_id))
    error_message = "vendor_account_id must be 12 digits."
  }
}

variable "external_id" {
  description = "External ID the vendor presents when assuming the cross-account role."
  type        = string
  sensitive   = true
  default     = "vpt-0123456789abcdef0123456789abcdef"
}

locals {
  tenant              = "globex-us"
  data_plane_role_arn = "arn:aws:iam::${var.vendor_account_id}:role/vpt-globex-us-data-plane"
  tags = {
    "vpt:tenant"     = "globex-us"
    "vpt:managed-by" = "vpt"
    "tier"           = "enterprise"
  }
  cmk_arns = {
    "us-east-1" = local.cmk_primary_arn
    "us-west-2" = aws_kms_replica_key.us_west_2.arn
  }
}
