"""Document downloads (uploads happen inside each area's own forms)."""
