-- PHP-style load for benches/load.sh: every event connects, runs one query and disconnects,
-- like a web request in an app that does not keep connections. Measures what the proxy's
-- backend connection pool saves (a backend connect + login per request).
function thread_init()
   drv = sysbench.sql.driver()
end

function event()
   local con = drv:connect()
   con:query("SELECT 1")
   con:disconnect()
end
