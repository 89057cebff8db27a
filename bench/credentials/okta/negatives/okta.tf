variable "okta_api_token" {
  type      = string
  sensitive = true
}

provider "okta" {
  org_name  = "acme-corp"
  api_token = var.okta_api_token
}
