"""The Terraform checked offline: provider schemas from the CDKTF packages (schema, providers),
python-hcl2's output read as declarations (hcl), the check itself (check), and scratch plans with
the real binary for the configuration's own expressions (cli)."""
