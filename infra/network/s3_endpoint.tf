# The AWS side of the network, only when the warehouse is Redshift: the workgroup has enhanced
# VPC routing on, so its COPY reads the staging bucket through the VPC, and a VPC without an S3
# gateway endpoint (or a NAT) has no route to S3 at all
# (https://docs.aws.amazon.com/redshift/latest/mgmt/enhanced-vpc-routing.html). The gateway
# endpoint is free and keeps the traffic inside AWS.

data "aws_region" "current" {
  count = var.aws_s3_endpoint ? 1 : 0
}

# The workgroup's VPC: that of its subnets, or the default VPC when it uses the default subnets.
data "aws_subnet" "redshift" {
  count = var.aws_s3_endpoint && length(var.aws_subnet_ids) > 0 ? 1 : 0
  id    = var.aws_subnet_ids[0]
}

data "aws_vpc" "default" {
  count   = var.aws_s3_endpoint && length(var.aws_subnet_ids) == 0 ? 1 : 0
  default = true
}

locals {
  aws_vpc_id = !var.aws_s3_endpoint ? null : (
    length(var.aws_subnet_ids) > 0 ? data.aws_subnet.redshift[0].vpc_id : data.aws_vpc.default[0].id
  )
}

# Every route table of the VPC (subnets without their own use the main one, which is listed too).
data "aws_route_tables" "redshift" {
  count  = var.aws_s3_endpoint ? 1 : 0
  vpc_id = local.aws_vpc_id
}

resource "aws_vpc_endpoint" "s3" {
  count             = var.aws_s3_endpoint ? 1 : 0
  vpc_id            = local.aws_vpc_id
  service_name      = "com.amazonaws.${data.aws_region.current[0].region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = data.aws_route_tables.redshift[0].ids
  tags              = merge(var.labels, { Name = "${var.name}-s3" })
}
