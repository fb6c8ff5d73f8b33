from agents_app.cli import app

app(prog_name="agents-app")
