"""`arq workers.main.WorkerSettings`: a thin entry point onto `syndicator.worker`."""
