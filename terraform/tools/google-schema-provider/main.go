// Command terraform-provider-google (schema build) serves, over the Terraform
// plugin protocol, the hashicorp/google 7.x schema of the resources that the
// pyexec root module in terraform/ uses. It exists because the real provider
// cannot be built from the Go module proxy reachable here (only
// terraform-provider-google v1.20.0 is served), while `terraform validate` and
// `terraform test` (with mock_provider "google") need a provider binary to get
// the schema from.
//
// The attribute names, types, nesting, Required/Optional/Computed flags,
// defaults and enum validations below follow the 7.x provider's resource
// definitions for these five resources (a subset: arguments this module does
// not use are left out, so anything that validates here also exists upstream).
// It has no API client: create/update fail, so it can never deploy anything.
// It is used only through the filesystem mirror written by
// terraform/scripts/install-tools.sh for tf-test.sh.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-sdk/v2/diag"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/validation"
	"github.com/hashicorp/terraform-plugin-sdk/v2/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Printf("terraform-provider-google v%s (pyexec schema build, tests only)\n", version)
		return
	}
	plugin.Serve(&plugin.ServeOpts{ProviderFunc: Provider})
}

// Provider returns the schema-only google provider.
func Provider() *schema.Provider {
	return &schema.Provider{
		Schema: map[string]*schema.Schema{
			"credentials":                     optString(),
			"access_token":                    optString(),
			"impersonate_service_account":     optString(),
			"project":                         optString(),
			"billing_project":                 optString(),
			"region":                          optString(),
			"zone":                            optString(),
			"user_project_override":           {Type: schema.TypeBool, Optional: true},
			"request_timeout":                 optString(),
			"request_reason":                  optString(),
			"universe_domain":                 optString(),
			"add_terraform_attribution_label": {Type: schema.TypeBool, Optional: true},
			"default_labels":                  stringMap(false),
			"scopes":                          {Type: schema.TypeList, Optional: true, Elem: &schema.Schema{Type: schema.TypeString}},
		},
		ResourcesMap: map[string]*schema.Resource{
			"google_project_service":                 resourceProjectService(),
			"google_artifact_registry_repository":    resourceArtifactRegistryRepository(),
			"google_service_account":                 resourceServiceAccount(),
			"google_cloud_run_v2_service":            resourceCloudRunV2Service(),
			"google_cloud_run_v2_service_iam_member": resourceCloudRunV2ServiceIamMember(),
		},
		ConfigureContextFunc: func(context.Context, *schema.ResourceData) (interface{}, diag.Diagnostics) {
			return nil, nil
		},
	}
}

// ---------------------------------------------------------------------------
// helpers

func optString() *schema.Schema { return &schema.Schema{Type: schema.TypeString, Optional: true} }

func optComputedString() *schema.Schema {
	return &schema.Schema{Type: schema.TypeString, Optional: true, Computed: true}
}

func computedString() *schema.Schema { return &schema.Schema{Type: schema.TypeString, Computed: true} }

func forceNewOptComputedString() *schema.Schema {
	return &schema.Schema{Type: schema.TypeString, Optional: true, Computed: true, ForceNew: true}
}

func requiredForceNewString() *schema.Schema {
	return &schema.Schema{Type: schema.TypeString, Required: true, ForceNew: true}
}

func stringMap(computed bool) *schema.Schema {
	s := &schema.Schema{Type: schema.TypeMap, Elem: &schema.Schema{Type: schema.TypeString}}
	if computed {
		s.Computed = true
	} else {
		s.Optional = true
	}
	return s
}

func stringList() *schema.Schema {
	return &schema.Schema{Type: schema.TypeList, Optional: true, Elem: &schema.Schema{Type: schema.TypeString}}
}

func enum(values ...string) schema.SchemaValidateFunc {
	return validation.StringInSlice(append(values, ""), false)
}

// labelsTriplet adds labels / effective_labels / terraform_labels like the
// provider does for every labelled resource since 5.0.
func labelsTriplet(m map[string]*schema.Schema) map[string]*schema.Schema {
	m["labels"] = stringMap(false)
	m["effective_labels"] = stringMap(true)
	m["terraform_labels"] = stringMap(true)
	return m
}

func schemaOnlyCreate(_ context.Context, _ *schema.ResourceData, _ interface{}) diag.Diagnostics {
	return diag.Errorf("this is the pyexec schema build of the google provider, used only by terraform test; it cannot create resources")
}

func schemaOnlyUpdate(_ context.Context, _ *schema.ResourceData, _ interface{}) diag.Diagnostics {
	return diag.Errorf("this is the pyexec schema build of the google provider, used only by terraform test; it cannot update resources")
}

func schemaOnlyRead(_ context.Context, _ *schema.ResourceData, _ interface{}) diag.Diagnostics {
	return nil
}

func schemaOnlyDelete(_ context.Context, d *schema.ResourceData, _ interface{}) diag.Diagnostics {
	d.SetId("")
	return nil
}

func crud(r *schema.Resource, updatable bool) *schema.Resource {
	r.CreateContext = schemaOnlyCreate
	r.ReadContext = schemaOnlyRead
	r.DeleteContext = schemaOnlyDelete
	if updatable {
		r.UpdateContext = schemaOnlyUpdate
	}
	return r
}

func defaultTimeouts() *schema.ResourceTimeout {
	d := schema.DefaultTimeout(20 * time.Minute)
	return &schema.ResourceTimeout{Create: d, Update: d, Delete: d}
}

// ---------------------------------------------------------------------------
// google_project_service

func resourceProjectService() *schema.Resource {
	d := schema.DefaultTimeout(20 * time.Minute)
	return crud(&schema.Resource{
		Timeouts: &schema.ResourceTimeout{Create: d, Update: d, Read: d, Delete: d},
		Schema: map[string]*schema.Schema{
			"service":                    requiredForceNewString(),
			"project":                    forceNewOptComputedString(),
			"disable_dependent_services": {Type: schema.TypeBool, Optional: true},
			"disable_on_destroy":         {Type: schema.TypeBool, Optional: true, Default: true},
		},
	}, true)
}

// ---------------------------------------------------------------------------
// google_artifact_registry_repository

func resourceArtifactRegistryRepository() *schema.Resource {
	return crud(&schema.Resource{
		Timeouts: defaultTimeouts(),
		Schema: labelsTriplet(map[string]*schema.Schema{
			"repository_id": requiredForceNewString(),
			"format":        requiredForceNewString(),
			"location":      forceNewOptComputedString(),
			"project":       forceNewOptComputedString(),
			"description":   optString(),
			"kms_key_name":  {Type: schema.TypeString, Optional: true, ForceNew: true},
			"mode": {
				Type: schema.TypeString, Optional: true, ForceNew: true, Default: "STANDARD_REPOSITORY",
				ValidateFunc: enum("STANDARD_REPOSITORY", "VIRTUAL_REPOSITORY", "REMOTE_REPOSITORY"),
			},
			"docker_config": {
				Type: schema.TypeList, Optional: true, MaxItems: 1,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"immutable_tags": {Type: schema.TypeBool, Optional: true},
				}},
			},
			"name":        computedString(),
			"create_time": computedString(),
			"update_time": computedString(),
		}),
	}, true)
}

// ---------------------------------------------------------------------------
// google_service_account

func resourceServiceAccount() *schema.Resource {
	return crud(&schema.Resource{
		Timeouts: &schema.ResourceTimeout{Create: schema.DefaultTimeout(5 * time.Minute)},
		Schema: map[string]*schema.Schema{
			"account_id":   requiredForceNewString(),
			"display_name": optString(),
			"description":  optString(),
			"disabled":     {Type: schema.TypeBool, Optional: true, Default: false},
			"project":      forceNewOptComputedString(),
			"email":        computedString(),
			"name":         computedString(),
			"unique_id":    computedString(),
		},
	}, true)
}

// ---------------------------------------------------------------------------
// google_cloud_run_v2_service

func probeSchema(withTCP bool) *schema.Schema {
	port := func() *schema.Schema { return &schema.Schema{Type: schema.TypeInt, Optional: true, Computed: true} }
	s := map[string]*schema.Schema{
		"initial_delay_seconds": {Type: schema.TypeInt, Optional: true, Default: 0},
		"timeout_seconds":       {Type: schema.TypeInt, Optional: true, Default: 1},
		"period_seconds":        {Type: schema.TypeInt, Optional: true, Default: 10},
		"failure_threshold":     {Type: schema.TypeInt, Optional: true, Default: 3},
		"http_get": {
			Type: schema.TypeList, Optional: true, MaxItems: 1,
			Elem: &schema.Resource{Schema: map[string]*schema.Schema{
				"path": {Type: schema.TypeString, Optional: true, Default: "/"},
				"port": port(),
				"http_headers": {
					Type: schema.TypeList, Optional: true,
					Elem: &schema.Resource{Schema: map[string]*schema.Schema{
						"name":  {Type: schema.TypeString, Required: true},
						"value": {Type: schema.TypeString, Optional: true, Default: ""},
					}},
				},
			}},
		},
		"grpc": {
			Type: schema.TypeList, Optional: true, MaxItems: 1,
			Elem: &schema.Resource{Schema: map[string]*schema.Schema{
				"port":    port(),
				"service": optString(),
			}},
		},
	}
	if withTCP {
		s["tcp_socket"] = &schema.Schema{
			Type: schema.TypeList, Optional: true, MaxItems: 1,
			Elem: &schema.Resource{Schema: map[string]*schema.Schema{"port": port()}},
		}
	}
	return &schema.Schema{
		Type: schema.TypeList, Optional: true, Computed: true, MaxItems: 1,
		Elem: &schema.Resource{Schema: s},
	}
}

func containerSchema() *schema.Schema {
	return &schema.Schema{
		Type: schema.TypeList, Optional: true,
		Elem: &schema.Resource{Schema: map[string]*schema.Schema{
			"name":        optString(),
			"image":       {Type: schema.TypeString, Required: true},
			"command":     stringList(),
			"args":        stringList(),
			"working_dir": optString(),
			"depends_on":  stringList(),
			"env": {
				Type: schema.TypeList, Optional: true,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"name":  {Type: schema.TypeString, Required: true},
					"value": optString(),
					"value_source": {
						Type: schema.TypeList, Optional: true, MaxItems: 1,
						Elem: &schema.Resource{Schema: map[string]*schema.Schema{
							"secret_key_ref": {
								Type: schema.TypeList, Optional: true, MaxItems: 1,
								Elem: &schema.Resource{Schema: map[string]*schema.Schema{
									"secret":  {Type: schema.TypeString, Required: true},
									"version": optString(),
								}},
							},
						}},
					},
				}},
			},
			"resources": {
				Type: schema.TypeList, Optional: true, Computed: true, MaxItems: 1,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"limits":            {Type: schema.TypeMap, Optional: true, Computed: true, Elem: &schema.Schema{Type: schema.TypeString}},
					"cpu_idle":          {Type: schema.TypeBool, Optional: true},
					"startup_cpu_boost": {Type: schema.TypeBool, Optional: true},
				}},
			},
			"ports": {
				Type: schema.TypeList, Optional: true, Computed: true,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"name":           optComputedString(),
					"container_port": {Type: schema.TypeInt, Optional: true},
				}},
			},
			"volume_mounts": {
				Type: schema.TypeList, Optional: true,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"name":       {Type: schema.TypeString, Required: true},
					"mount_path": {Type: schema.TypeString, Required: true},
				}},
			},
			"liveness_probe": probeSchema(true),
			"startup_probe":  probeSchema(true),
		}},
	}
}

func conditionsSchema() *schema.Schema {
	fields := map[string]*schema.Schema{}
	for _, f := range []string{"type", "state", "message", "last_transition_time", "severity", "reason", "revision_reason", "execution_reason"} {
		fields[f] = computedString()
	}
	return &schema.Schema{Type: schema.TypeList, Computed: true, Elem: &schema.Resource{Schema: fields}}
}

func resourceCloudRunV2Service() *schema.Resource {
	return crud(&schema.Resource{
		Timeouts: defaultTimeouts(),
		Schema: labelsTriplet(map[string]*schema.Schema{
			"name":     requiredForceNewString(),
			"location": requiredForceNewString(),
			"project":  forceNewOptComputedString(),
			"template": {
				Type: schema.TypeList, Required: true, MaxItems: 1,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"revision":    optString(),
					"labels":      stringMap(false),
					"annotations": stringMap(false),
					"scaling": {
						Type: schema.TypeList, Optional: true, Computed: true, MaxItems: 1,
						Elem: &schema.Resource{Schema: map[string]*schema.Schema{
							"min_instance_count": {Type: schema.TypeInt, Optional: true},
							"max_instance_count": {Type: schema.TypeInt, Optional: true},
						}},
					},
					"timeout":         optComputedString(),
					"service_account": optComputedString(),
					"execution_environment": {
						Type: schema.TypeString, Optional: true,
						ValidateFunc: enum("EXECUTION_ENVIRONMENT_GEN1", "EXECUTION_ENVIRONMENT_GEN2"),
					},
					"encryption_key":                   optString(),
					"max_instance_request_concurrency": {Type: schema.TypeInt, Optional: true, Computed: true},
					"session_affinity":                 {Type: schema.TypeBool, Optional: true},
					"containers":                       containerSchema(),
				}},
			},
			"description":    optString(),
			"annotations":    stringMap(false),
			"client":         optString(),
			"client_version": optString(),
			"ingress": {
				Type: schema.TypeString, Optional: true, Computed: true,
				ValidateFunc: enum("INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"),
			},
			"launch_stage": {
				Type: schema.TypeString, Optional: true, Computed: true,
				ValidateFunc: enum("UNIMPLEMENTED", "PRELAUNCH", "EARLY_ACCESS", "ALPHA", "BETA", "GA", "DEPRECATED"),
			},
			"custom_audiences":     stringList(),
			"invoker_iam_disabled": {Type: schema.TypeBool, Optional: true},
			"deletion_protection":  {Type: schema.TypeBool, Optional: true, Default: true},
			"scaling": {
				Type: schema.TypeList, Optional: true, Computed: true, MaxItems: 1,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"min_instance_count": {Type: schema.TypeInt, Optional: true},
				}},
			},
			"traffic": {
				Type: schema.TypeList, Optional: true, Computed: true,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"type": {
						Type: schema.TypeString, Optional: true,
						ValidateFunc: enum("TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"),
					},
					"revision": optString(),
					"percent":  {Type: schema.TypeInt, Optional: true, Computed: true},
					"tag":      optString(),
				}},
			},
			"uri":                     computedString(),
			"urls":                    {Type: schema.TypeList, Computed: true, Elem: &schema.Schema{Type: schema.TypeString}},
			"uid":                     computedString(),
			"etag":                    computedString(),
			"generation":              computedString(),
			"observed_generation":     computedString(),
			"latest_ready_revision":   computedString(),
			"latest_created_revision": computedString(),
			"create_time":             computedString(),
			"update_time":             computedString(),
			"delete_time":             computedString(),
			"expire_time":             computedString(),
			"creator":                 computedString(),
			"last_modifier":           computedString(),
			"reconciling":             {Type: schema.TypeBool, Computed: true},
			"effective_annotations":   stringMap(true),
			"terminal_condition":      conditionsSchema(),
			"conditions":              conditionsSchema(),
		}),
	}, true)
}

// ---------------------------------------------------------------------------
// google_cloud_run_v2_service_iam_member

func resourceCloudRunV2ServiceIamMember() *schema.Resource {
	return crud(&schema.Resource{
		Schema: map[string]*schema.Schema{
			"name":     requiredForceNewString(),
			"role":     requiredForceNewString(),
			"member":   requiredForceNewString(),
			"project":  forceNewOptComputedString(),
			"location": forceNewOptComputedString(),
			"condition": {
				Type: schema.TypeList, Optional: true, ForceNew: true, MaxItems: 1,
				Elem: &schema.Resource{Schema: map[string]*schema.Schema{
					"expression":  {Type: schema.TypeString, Required: true, ForceNew: true},
					"title":       {Type: schema.TypeString, Required: true, ForceNew: true},
					"description": {Type: schema.TypeString, Optional: true, ForceNew: true},
				}},
			},
			"etag": computedString(),
		},
	}, false)
}
