"""Operator tools: chaos drills against a running bot, backup/restore, the admin status.

Above ``components`` (like ``doctor``): it may build anything below, and it talks to localnet only
over HTTP, as any operator tool would (production code never imports localnet).
"""
