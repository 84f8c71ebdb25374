# Rendered by vpt for tenant acme-eu: resources in the customer's own account, where
# the tenant's feature data lives. Every resource is pinned to eu-west-1.
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
  region              = "eu-west-1"
  allowed_account_ids = ["210987654321"]
  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias               = "eu_west_1"
  region              = "eu-west-1"
  allowed_account_ids = ["210987654321"]
  default_tags {
    tags = local.tags
  }
}
