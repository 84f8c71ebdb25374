variable "vendor_account_id" {
  description = "The tenant's dedicated vendor account (12 digits)."
  type        = string
  default     = "900000000042"
  validation {
    condition     = can(regex("^[0-9]{12}$", var.vendor_account_id))
    error_message = "vendor_account_id must be 12 digits."
  }
}

variable "vpc_cidr" {
  description = "The VPC block allocated to the tenant from the fleet pool."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && endswith(var.vpc_cidr, "/16")
    error_message = "vpc_cidr must be a /16 IPv4 block."
  }
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider of the EKS cluster that runs the tenant's pods."
  type        = string
}

variable "eks_oidc_issuer" {
  description = "Issuer host and path of that OIDC provider, without https:// (oidc.eks.REGION.amazonaws.com/id/ID)."
  type        = string
}

locals {
  tenant = "acme-eu"
  tags = {
    "vpt:tenant"     = "acme-eu"
    "vpt:managed-by" = "vpt"
  }
  cmk_arns = {
    "eu-west-1" = aws_kms_key.cmk.arn
  }
}
