# Real plan/apply/destroy with local state (scripts/test-tofu.sh runs it in a temp dir):
# providers that need no account, installed from the project's filesystem mirror.
terraform {
  required_version = ">= 1.10.0"
  required_providers {
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6.0"
    }
  }
}

resource "random_pet" "node" {
  length = 2
}

resource "random_id" "suffix" {
  byte_length = 4
}

resource "tls_private_key" "node" {
  algorithm = "ED25519"
}

# The built-in replacement for null_resource (hashicorp/null is not buildable here, see
# tools/tofu/providers.txt).
resource "terraform_data" "node" {
  input = {
    name        = "${random_pet.node.id}-${random_id.suffix.hex}"
    fingerprint = tls_private_key.node.public_key_fingerprint_sha256
  }
  triggers_replace = [tls_private_key.node.public_key_openssh]
}

output "node_name" {
  value = terraform_data.node.output.name
}

output "public_key_openssh" {
  value = tls_private_key.node.public_key_openssh
}

output "fingerprint" {
  value = terraform_data.node.output.fingerprint
}
