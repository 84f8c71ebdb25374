# The feature server, offered to the customer's VPC over PrivateLink: an internal network load
# balancer in the private subnets and an endpoint service that only the customer account may
# connect to, each connection accepted explicitly.
resource "aws_lb" "feature_server" {
  name                             = "vpt-acme-eu-fs"
  internal                         = true
  load_balancer_type               = "network"
  subnets                          = aws_subnet.private[*].id
  enable_deletion_protection       = true
  enable_cross_zone_load_balancing = true
  #checkov:skip=CKV_AWS_91:The load balancer passes TCP through so that TLS ends in the feature server (mutual TLS with per-tenant certificates); NLB access logs cover only TLS listeners, and the VPC flow logs record every connection.
}

resource "aws_lb_target_group" "feature_server" {
  name        = "vpt-acme-eu-fs-tg"
  port        = 8443
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = aws_vpc.tenant.id
  health_check {
    protocol = "TCP"
  }
}

resource "aws_lb_listener" "feature_server" {
  load_balancer_arn = aws_lb.feature_server.arn
  port              = 443
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.feature_server.arn
  }
}

resource "aws_vpc_endpoint_service" "feature_server" {
  acceptance_required        = true
  network_load_balancer_arns = [aws_lb.feature_server.arn]
  allowed_principals         = ["arn:aws:iam::210987654321:root"]
}
