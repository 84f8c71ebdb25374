# Rendered by vpt for tenant globex-us: resources in the customer's own account, where
# the tenant's feature data lives. Every resource is pinned to us-east-1.
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
  allowed_account_ids = ["123456789012"]
  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias               = "us_east_1"
  region              = "us-east-1"
  allowed_account_ids = ["123456789012"]
  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias               = "us_west_2"
  region              = "us-west-2"
  allowed_account_ids = ["123456789012"]
  default_tags {
    tags = local.tags
  }
}
