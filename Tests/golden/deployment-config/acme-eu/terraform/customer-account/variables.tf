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

variable "cmk_arns" {
  description = "The tenant's vendor-managed master key and its replicas, by region (the vendor configuration's cmk_arns output)."
  type        = map(string)
}

locals {
  tenant              = "acme-eu"
  data_plane_role_arn = "arn:aws:iam::${var.vendor_account_id}:role/vpt-acme-eu-data-plane"
  tags = {
    "vpt:tenant"     = "acme-eu"
    "vpt:managed-by" = "vpt"
  }
  cmk_arns = var.cmk_arns
}
