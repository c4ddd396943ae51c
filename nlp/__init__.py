"""spaCy pipeline: normalisation, substance matching, vendor signals, risk scoring, evaluation."""
