"""The past-runs screen: every saved run in one table, opened whole, compared, followed live."""
