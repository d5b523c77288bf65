terraform {
  required_version = ">= 1.10"

  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = ">= 1.50, < 2.0"
    }
  }
}

provider "hcloud" {
  token = var.hcloud_token
}
