"""Daily digests: what each channel gets, composed once per channel and day."""
