provider "truenas" {
  base_url = "https://nas01.lan/api/v2.0"
  api_key  = var.truenas_api_key
}
