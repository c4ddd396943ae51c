"""Exchange formats for other tools: STIX 2.1 (stix) and MISP (misp), labelled with the INTERPOL DW-VA taxonomy
(taxonomy). The takedown CSV/JSON and evidence bundles stay in interdict.web.exports."""
