# The Littlest JupyterHub: copy to /opt/tljh/config/jupyterhub_config.d/course.py, then
#   sudo tljh-config reload
# A learner's server starts on nbgitpuller's page, which pulls the course into their home and
# opens the default notebook (the link `python3 course.py workshop-link` prints, server part).
# Must match workshop/settings.toml: tests/test_workshop_config.py checks it.
c = get_config()  # noqa: F821
c.Spawner.default_url = (
    "/git-pull?repo=https%3A%2F%2Fgithub.com%2Fgo-stalls-course%2Fgo-scheduler-stalls"
    "&urlpath=lab%2Ftree%2Fgo-scheduler-stalls%2Fchapters%2F00-start-here.ipynb"
    "&branch=main&targetpath=go-scheduler-stalls"
)
# LABKIT_SERVICES: chapter 5b and lab 5 show the shipped runs of the real services instead of
# starting a service, a load generator and a Prometheus in every learner's kernel.
c.Spawner.environment = {
    "GOTOOLCHAIN": "local",
    "NBGITPULLER_APP": "lab",
    "LABKIT_SERVICES": "recorded",
}
# The widgets' messages reach the browser when the kernel sends them (labkit/serving.py: the
# kernel's WebSocket without Nagle's delay); course.py's LAB_SERVER_CONFIG says the same.
c.Spawner.args = [
    "--ServerApp.kernel_websocket_connection_class=labkit.serving.NoDelayKernelConnection"
]
