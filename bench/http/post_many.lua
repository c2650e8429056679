-- wrk script: POST the JSON bodies of the file named by the BODIES environment variable (one per line), in turn.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do
  bodies[#bodies + 1] = line
end
assert(#bodies > 0, "no bodies in " .. os.getenv("BODIES"))
local next_body = 0

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end
