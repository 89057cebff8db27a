provider "okta" {
  org_name  = "acme-corp"
  base_url  = "okta.com"
  api_token = "00JjaCZtSMf9nhZb5jzE85B32PkZdiBZOZLZjrfDN2"
}
