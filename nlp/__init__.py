"""spaCy pipeline: normalization, substance matching, vendor signals, risk scoring, evaluation."""
