"""The open data: the asset register as an Open Referral HSDS 3.0 API."""
