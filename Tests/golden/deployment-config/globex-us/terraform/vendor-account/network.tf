# The tenant's VPC: two private subnets in two availability zones, no internet gateway,
# flow logs for every connection, and a default security group that allows nothing.
resource "aws_vpc" "tenant" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags = {
    Name = "vpt-globex-us"
  }
}

resource "aws_default_security_group" "tenant" {
  vpc_id = aws_vpc.tenant.id
}

resource "aws_subnet" "private" {
  count                   = 2
  vpc_id                  = aws_vpc.tenant.id
  availability_zone       = ["us-east-1a", "us-east-1b"][count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 2, count.index)
  map_public_ip_on_launch = false
  tags = {
    Name = "${local.tenant}-private-${count.index}"
  }
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/vpt/globex-us/vpc-flow-logs"
  retention_in_days = 365
  kms_key_id        = local.cmk_arns["us-east-1"]
}

resource "aws_flow_log" "tenant" {
  vpc_id          = aws_vpc.tenant.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn    = aws_iam_role.flow_logs.arn
}

resource "aws_iam_role" "flow_logs" {
  name = "vpt-globex-us-flow-logs"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Condition = { StringEquals = { "aws:SourceAccount" = var.vendor_account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "flow_logs" {
  name = "write-flow-logs"
  role = aws_iam_role.flow_logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = "${aws_cloudwatch_log_group.flow_logs.arn}:*"
    }]
  })
}
