provider "azurerm" {
  features {}
  tenant_id     = "e57c0038-2baa-4ef8-80f0-5da474a430e5"
  client_id     = "b21f6345-7a4b-4d39-ab7b-dc0af0f40d5a"
  client_secret = "ZOX8Q~qjIEF1ki26oqff~QDgn-m_.Rx6xXwkFGrc"
  subscription_id = "bc54b924-e0f8-4ac2-ae5d-80bf2c1228d0"
}
