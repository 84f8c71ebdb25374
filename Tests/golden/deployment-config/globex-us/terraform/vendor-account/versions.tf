# Rendered by vpt for tenant globex-us: the tenant's dedicated vendor account.
# Do not edit: `vpt render tenant` rewrites this folder from the tenant spec.
terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
}

provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = [var.vendor_account_id]
  default_tags {
    tags = local.tags
  }
}
