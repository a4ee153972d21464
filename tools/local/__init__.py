"""The local development stack behind `make run`: AWS's parts emulated on 127.0.0.1."""
