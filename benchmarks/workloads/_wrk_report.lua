-- wrk script for the http_keepalive workload: print one machine-readable line when done.
-- The server stops wrk with SIGINT once it has answered the requests it was asked to.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
end
