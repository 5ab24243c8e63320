"""Singer tap for the MOLO and Stellar Business marina exports."""
