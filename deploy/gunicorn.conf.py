"""gunicorn in production (docker-compose.yml's web service, and the proxy test): reached only
through nginx (deploy/nginx/default.conf.template), which hands it whole requests."""

bind = "0.0.0.0:8000"
worker_class = "sync"
workers = 3
timeout = 120
