{{/* Names, labels and the per-service pieces every template shares. */}}

{{- define "rex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rex.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rex.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of everything the release makes. */}}
{{- define "rex.labels" -}}
helm.sh/chart: {{ include "rex.chart" . }}
app.kubernetes.io/name: {{ include "rex.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rex
{{- end }}

{{/* Selector labels of one service: dict "root" $ "svc" $svc. */}}
{{- define "rex.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rex.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc.name }}
{{- end }}

{{- define "rex.componentLabels" -}}
{{ include "rex.labels" .root }}
app.kubernetes.io/component: {{ .svc.name }}
{{- end }}

{{/* Resource name of one service: <fullname>-<service name>. */}}
{{- define "rex.componentName" -}}
{{- printf "%s-%s" (include "rex.fullname" .root) .svc.name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rex.image" -}}
{{- $tag := .svc.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- if .root.Values.image.registry }}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .svc.image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .svc.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "rex.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "rex.fullname" .) }}
{{- end }}

{{- define "rex.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "rex.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/*
The non-secret environment of one service as a YAML map: the stack-wide REX_* settings, where
it listens, then its `env` values rendered with tpl (empty results left out).
*/}}
{{- define "rex.configEnv" -}}
{{- $root := .root }}
{{- $svc := .svc }}
{{- $env := dict
  "REX_ENV" $root.Values.rex.env
  "REX_LOG_LEVEL" $root.Values.rex.logLevel
  "REX_KAFKA_BOOTSTRAP" $root.Values.kafka.bootstrapServers
  "REX_KAFKA_PARTITIONS" (toString $root.Values.kafka.partitions)
  (printf "%sHOST" $svc.envPrefix) "0.0.0.0"
  (printf "%sPORT" $svc.envPrefix) (toString $svc.port)
}}
{{- range $key, $value := $svc.env }}
{{- $rendered := tpl (toString $value) $root }}
{{- if $rendered }}
{{- $_ := set $env $key $rendered }}
{{- end }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/* The env entries read from the Secret: required keys, then optional ones. */}}
{{- define "rex.secretEnv" -}}
{{- $secret := include "rex.secretName" .root }}
{{- range .svc.secretEnv }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- end }}
{{- range .svc.optionalSecretEnv }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}

{{/* The database URL of one service (key of secrets.databases) built from `postgresql`. */}}
{{- define "rex.databaseUrl" -}}
{{- $db := .db }}
{{- $pg := .root.Values.postgresql }}
{{- if $db.url }}
{{- $db.url }}
{{- else }}
{{- $auth := $db.user | urlquery }}
{{- if $db.password }}
{{- $auth = printf "%s:%s" $auth ($db.password | urlquery) }}
{{- end }}
{{- $dsn := printf "postgresql://%s@%s:%v/%s" $auth $pg.host $pg.port $pg.database }}
{{- if $pg.params }}
{{- $dsn = printf "%s?%s" $dsn $pg.params }}
{{- end }}
{{- $dsn }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by Deployments and migration Jobs. */}}
{{- define "rex.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "rex.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
{{- range $k := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $ $k }}
{{ $k }}: {{ get $ $k }}
{{- end }}
{{- end }}
{{- end }}
