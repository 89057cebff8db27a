provider "azurerm" {
  features {}
  use_oidc = true
  client_id = var.client_id
}
