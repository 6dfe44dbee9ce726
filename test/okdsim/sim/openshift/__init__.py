"""okdsim's OpenShift image components (see the OpenShift section of test/okdsim/README.md):
image.openshift.io/v1 (imagestreams, imagestreams/secrets, imagestreamtags, imagetags,
imagestreamimports, images), the image-import and image-trigger controllers, a deployment
rollout recorder and the ImagePolicy admission's image lookup.

okdsim.py calls add_arguments(parser) before parsing and install(sim) at start-up."""
import os
import shutil
import tempfile

from . import api, controllers, lookup


def add_arguments(parser):
    g = parser.add_argument_group("OpenShift image components")
    g.add_argument("--scheduled-import-interval", default="15m", metavar="DURATION",
                   help="period of scheduled imports of importPolicy.scheduled tags "
                        "(OpenShift's default 15m; 0 disables)")
    g.add_argument("--trigger-resync-interval", default="2s", metavar="DURATION",
                   help="how often the image trigger controller re-checks every triggered "
                        "workload (besides reacting to events)")
    g.add_argument("--internal-registry-hostname", default="", metavar="HOST[:PORT]",
                   help="images.config.openshift.io status.internalRegistryHostname; "
                        "status.dockerImageRepository is HOST/NS/NAME (empty: no internal "
                        "registry, as in the recorded transcripts)")
    g.add_argument("--external-registry-hostname", default="", metavar="HOST",
                   help="first externalRegistryHostnames entry "
                        "(status.publicDockerImageRepository)")
    g.add_argument("--image-stream-import-mode", default="Legacy",
                   choices=["Legacy", "PreserveOriginal"],
                   help="default importPolicy.importMode")
    g.add_argument("--registry-ca", default=None, metavar="FILE",
                   help="an additional CA trusted by the importer for registries that are not "
                        "imported with importPolicy.insecure")
    g.add_argument("--prefer-arch", default="amd64",
                   help="control-plane architecture (Legacy mode picks it from indexes)")
    g.add_argument("--prefer-os", default="linux", help="control-plane OS")
    g.add_argument("--no-openshift-controllers", action="store_true",
                   help="do not run the image-import, image-trigger and rollout controllers")


def _admission(backend):
    def admit(sim, rt, op, obj, old):
        if op not in ("CREATE", "UPDATE"):
            return
        if (rt.group, rt.kind) not in lookup.RULE_KINDS:
            return
        srt = api.stream_type(sim)

        def get_istag(ns, name_tag):
            name, tag = name_tag.split(":", 1)
            s = sim.store.get_or_none(srt, ns, name)
            if s is None:
                return None
            return backend.istag(s, tag)

        def get_stream(ns, name):
            return sim.store.get_or_none(srt, ns, name)

        lookup.admit(obj, old, op, rt.group, get_istag, get_stream, api.internal_registry(sim))
    return admit


def install(sim):
    opts = sim.options
    for name, default in (("scheduled_import_interval", "15m"),
                          ("trigger_resync_interval", "2s"),
                          ("internal_registry_hostname", ""), ("external_registry_hostname", ""),
                          ("image_stream_import_mode", "Legacy"), ("registry_ca", None),
                          ("prefer_arch", "amd64"), ("prefer_os", "linux"),
                          ("no_openshift_controllers", False)):
        if not hasattr(opts, name):
            setattr(opts, name, default)
    # validate durations early so a typo fails at start-up
    controllers.parse_duration(opts.scheduled_import_interval)
    controllers.parse_duration(opts.trigger_resync_interval)
    if opts.registry_ca:
        d = tempfile.mkdtemp(prefix="okdsim-registry-ca-")
        shutil.copy(opts.registry_ca, os.path.join(d, "ca.crt"))
        opts._registry_cert_dir = d
    images = api.ImageStore(sim)
    backend = api.Backend(sim, images)
    api.register(sim, backend)
    sim.register_admission(_admission(backend))
    sim.openshift_backend = backend
    # Namespaces every OKD cluster has; the console reads dashboards from
    # openshift-config-managed (olm-okd.md §6).
    ns_rt = sim.registry.by_resource("", "namespaces")
    for ns in ("openshift", "openshift-config", "openshift-config-managed"):
        if sim.store.get_or_none(ns_rt, "", ns) is None:
            sim.store.create(ns_rt, {"metadata": {"name": ns}})
    if not opts.no_openshift_controllers:
        sim.start_controller("openshift.io/image-import",
                             controllers.ImportController(sim, backend).run)
        sim.start_controller("openshift.io/image-trigger",
                             controllers.TriggerController(sim, backend).run)
        sim.start_controller("deployment-rollouts", controllers.RolloutController(sim).run)
    return backend
