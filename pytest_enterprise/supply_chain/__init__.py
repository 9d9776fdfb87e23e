"""Supply chain: the inventory of the tested environment, its SBOM (CycloneDX, SPDX), an
offline OSV vulnerability scan, and SLSA provenance signed as DSSE.

``model`` holds the shared values; ``inventory`` reads an environment; ``sbom`` writes
CycloneDX and SPDX; ``osv`` loads an OSV database and matches the inventory; ``dsse`` signs and
verifies envelopes; ``provenance`` builds the in-toto statements and judges SLSA levels;
``security`` is the guide's ``SupplyChainSecurity`` API.
"""
