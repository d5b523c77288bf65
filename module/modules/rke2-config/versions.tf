terraform {
  # Pure module: no providers. It renders RKE2 config.yaml documents only, so
  # it can run anywhere `tofu` runs (tests, the lab's render script, CI).
  required_version = ">= 1.10"
}
