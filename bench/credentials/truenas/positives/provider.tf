provider "truenas" {
  base_url = "https://nas01.lan/api/v2.0"
  api_key  = "10-z3J0rHU4Cro1Ej0CLoXeWpZsJ7FfGHS5dmLITFMVtcSvFET1tirH1uSovVptvFdm"
}
