"""dltui's engine: config, data, models, training loop and run store. Never imports textual."""
