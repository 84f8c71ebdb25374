# The offline store (training data): a versioned bucket encrypted with the tenant's key, closed
# to the public, reachable only over TLS, with its access logged to a second bucket.
resource "aws_s3_bucket" "offline" {
  provider = aws.us_west_2
  bucket   = "vpt-globex-us-offline-123456789012"
  #checkov:skip=CKV_AWS_144:Cross-region replication would copy feature data out of the tenant's residency region; versioning and the customer's backups protect it instead.
}

resource "aws_s3_bucket_versioning" "offline" {
  provider = aws.us_west_2
  bucket   = aws_s3_bucket.offline.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "offline" {
  provider = aws.us_west_2
  bucket   = aws_s3_bucket.offline.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.cmk_arns["us-west-2"]
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "offline" {
  provider                = aws.us_west_2
  bucket                  = aws_s3_bucket.offline.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "offline" {
  provider = aws.us_west_2
  bucket   = aws_s3_bucket.offline.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.offline.arn, "${aws_s3_bucket.offline.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}

resource "aws_s3_bucket_logging" "offline" {
  provider      = aws.us_west_2
  bucket        = aws_s3_bucket.offline.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "offline/"
}

resource "aws_s3_bucket_lifecycle_configuration" "offline" {
  provider = aws.us_west_2
  bucket   = aws_s3_bucket.offline.id
  rule {
    id     = "expire-replaced-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_notification" "offline" {
  provider    = aws.us_west_2
  bucket      = aws_s3_bucket.offline.id
  eventbridge = true
}

# Access logs of the offline store, in the same region.
resource "aws_s3_bucket" "access_logs" {
  provider = aws.us_west_2
  bucket   = "vpt-globex-us-logs-123456789012"
  #checkov:skip=CKV_AWS_18:This bucket receives the offline store's access logs; logging it to itself would loop.
  #checkov:skip=CKV_AWS_144:Cross-region replication would move access logs out of the tenant's residency region.
}

resource "aws_s3_bucket_versioning" "access_logs" {
  provider = aws.us_west_2
  bucket   = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  provider = aws.us_west_2
  bucket   = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.cmk_arns["us-west-2"]
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  provider                = aws.us_west_2
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  provider = aws.us_west_2
  bucket   = aws_s3_bucket.access_logs.id
  rule {
    id     = "expire-old-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 365
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_notification" "access_logs" {
  provider    = aws.us_west_2
  bucket      = aws_s3_bucket.access_logs.id
  eventbridge = true
}
