# The roles the tenant's pods run as (EKS IAM roles for service accounts). Each trusts exactly
# one Kubernetes service account of the tenant's namespace.
resource "aws_iam_role" "control_plane" {
  name = "vpt-globex-us-control-plane"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = var.eks_oidc_provider_arn }
      Condition = { StringEquals = {
        "${var.eks_oidc_issuer}:sub" = "system:serviceaccount:vpt-globex-us:control-plane"
        "${var.eks_oidc_issuer}:aud" = "sts.amazonaws.com"
      } }
    }]
  })
}

resource "aws_iam_role_policy" "control_plane" {
  name = "tenant-metadata-keys"
  role = aws_iam_role.control_plane.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      Resource = values(local.cmk_arns)
    }]
  })
}

resource "aws_iam_role" "data_plane" {
  name = "vpt-globex-us-data-plane"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = var.eks_oidc_provider_arn }
      Condition = { StringEquals = {
        "${var.eks_oidc_issuer}:sub" = "system:serviceaccount:vpt-globex-us:data-plane"
        "${var.eks_oidc_issuer}:aud" = "sts.amazonaws.com"
      } }
    }]
  })
}

# The data plane reaches the customer's stores only through the cross-account role, which the
# customer's configuration creates with an external ID condition.
resource "aws_iam_role_policy" "data_plane" {
  name = "customer-account-access"
  role = aws_iam_role.data_plane.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "sts:AssumeRole"
        Resource = "arn:aws:iam::123456789012:role/vpt-globex-us-access"
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource = values(local.cmk_arns)
      },
    ]
  })
}
