provider "okta" {
  org_name  = "acme-corp"
  base_url  = "okta.com"
  api_token = "00xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
}
