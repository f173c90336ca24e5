{{/*
Names, labels and the generated cluster topology.

Invariant: node id = pod name = "<fullname>-<ordinal>", and the peer list,
the per-pod certificates and the TLS volume are all generated from the same
`replicas` count and headless Service name, so they always agree. The
bootstrap list (--initial-members) is the first membership.initialReplicas
of those names.
*/}}

{{/* Container ports are fixed so that `duckraft probe` and `duckraft drain`
can reach the local node without flags. */}}
{{- define "duckraft.pgPort" -}}5433{{- end -}}
{{- define "duckraft.peerPort" -}}7433{{- end -}}
{{- define "duckraft.httpPort" -}}8433{{- end -}}

{{- define "duckraft.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fullname, cut to 52 characters: the StatefulSet adds the
controller-revision-hash label "<name>-<10 chars>", which must fit in 63.
*/}}
{{- define "duckraft.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "duckraft.headlessServiceName" -}}
{{- printf "%s-headless" (include "duckraft.fullname" .) -}}
{{- end -}}

{{- define "duckraft.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "duckraft.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "duckraft.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "duckraft.selectorLabels" -}}
app.kubernetes.io/name: {{ include "duckraft.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "duckraft.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "duckraft.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: duckraft
{{- end -}}

{{/* Names of the pods with ordinals 0..count-1, as a JSON array:
(list $root count). */}}
{{- define "duckraft.podNamesUpTo" -}}
{{- $fullname := include "duckraft.fullname" (index . 0) -}}
{{- $names := list -}}
{{- range $ordinal := until (int (index . 1)) -}}
{{- $names = append $names (printf "%s-%d" $fullname $ordinal) -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* Pod names, ordinal order: "<fullname>-0", "<fullname>-1", ... */}}
{{- define "duckraft.podNames" -}}
{{- include "duckraft.podNamesUpTo" (list . .Values.replicas) -}}
{{- end -}}

{{/* --initial-members value: the pods that bootstrapped the cluster,
ordinals 0..membership.initialReplicas-1, comma-joined. Pods with higher
ordinals join once a member adds them (ALTER CLUSTER ADD MEMBER).
`membership` is missing when a release made before it existed is upgraded
with --reuse-values: then the render guard, not a nil pointer, reports it. */}}
{{- define "duckraft.initialMembers" -}}
{{- $membership := .Values.membership | default dict -}}
{{- include "duckraft.podNamesUpTo" (list . (default 0 $membership.initialReplicas)) | fromJsonArray | join "," -}}
{{- end -}}

{{/* "<pod>.<headless>.<namespace>.svc.<clusterDomain>" for one pod name. */}}
{{- define "duckraft.podFqdn" -}}
{{- $root := index . 0 -}}
{{- $pod := index . 1 -}}
{{- printf "%s.%s.%s.svc.%s" $pod (include "duckraft.headlessServiceName" $root) $root.Release.Namespace $root.Values.clusterDomain -}}
{{- end -}}

{{/* --peers value: "<pod>=<pod fqdn>:7433" for every ordinal, comma-joined. */}}
{{- define "duckraft.peers" -}}
{{- $root := . -}}
{{- $peers := list -}}
{{- range $pod := include "duckraft.podNames" . | fromJsonArray -}}
{{- $peers = append $peers (printf "%s=%s:%s" $pod (include "duckraft.podFqdn" (list $root $pod)) (include "duckraft.peerPort" $root)) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* Majority of the voters: replicas / 2 + 1. */}}
{{- define "duckraft.quorum" -}}
{{- add1 (div (int .Values.replicas) 2) -}}
{{- end -}}

{{/* Issuer that signs the per-pod certificates. */}}
{{- define "duckraft.certIssuerRef" -}}
{{- if .Values.tls.certManager.issuerRef.name -}}
name: {{ .Values.tls.certManager.issuerRef.name }}
kind: {{ .Values.tls.certManager.issuerRef.kind | default "Issuer" }}
group: {{ .Values.tls.certManager.issuerRef.group | default "cert-manager.io" }}
{{- else -}}
name: {{ printf "%s-ca" (include "duckraft.fullname" .) }}
kind: Issuer
group: cert-manager.io
{{- end -}}
{{- end -}}

{{/* Which source the TLS files come from: "secret", "cert-manager" or "none". */}}
{{- define "duckraft.tlsSource" -}}
{{- if not .Values.tls.enabled -}}none
{{- else if .Values.tls.existingSecret -}}secret
{{- else if .Values.tls.certManager.enabled -}}cert-manager
{{- else -}}none
{{- end -}}
{{- end -}}

{{/* Secret holding one pod's cert-manager certificate. */}}
{{- define "duckraft.podTlsSecretName" -}}
{{- printf "%s-tls" . -}}
{{- end -}}
