-- wrk script: POST with no body (the token travels in a -H header).
wrk.method = "POST"
