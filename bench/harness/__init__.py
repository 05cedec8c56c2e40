"""What every scenario shares: Postgres, child processes, loopback servers, load tools and reports."""
