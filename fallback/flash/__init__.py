"""Flash socket policy: what the policy says (`policy`, pure) and who answers it
(`server`: a dedicated port-843 server, and in-band detection on the HTTP port)."""
