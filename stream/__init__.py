"""Live stylization: capture, GPU worker, temporal blending, sinks, WebRTC server."""
