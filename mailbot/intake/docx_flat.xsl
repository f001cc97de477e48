<?xml version="1.0" encoding="UTF-8"?>
<!-- The form walker's C-level pass (docx_flat): a document part flattened into one string of
     marks and text, read in one Python loop. A mark is U+FDD0, a letter, its fields (each
     U+FDD2, a name, U+FDD3, a value), then U+FDD1; the text between marks is what a
     paragraph's runs say. It follows the paths docx_walk follows and nothing else; where
     docx_walk would do something this pass does not copy (struck, highlighted or shaded runs,
     rows wrapped in controls, text boxes, equations), it writes the mark "!" and docx_walk
     reads the document instead. Each XPath test costs about a microsecond here, so settings
     are written as met and sorted out in Python. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"
    xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"
    xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"
    xmlns:ms="http://purl.oclc.org/ooxml/officeDocument/math">
  <xsl:output method="text" encoding="UTF-8"/>

  <!-- The body's blocks, or the root's when it has no w:body (docx_walk.Walker.walk). -->
  <xsl:template match="/">
    <xsl:for-each select="*">
      <xsl:choose>
        <xsl:when test="w:body"><xsl:apply-templates select="w:body[1]/*" mode="block"/></xsl:when>
        <xsl:otherwise><xsl:apply-templates select="*" mode="block"/></xsl:otherwise>
      </xsl:choose>
    </xsl:for-each>
  </xsl:template>

  <!-- "@w:val | @*[local-name() = 'val'][not(../@w:val)][1]" is docx_xml.attr(el, "val"): the
       w: attribute, else the first attribute of that local name. -->

  <!-- blocks: paragraphs, tables, content controls, see-through containers -->
  <xsl:template match="w:p" mode="block">
    <xsl:apply-templates select="*" mode="inline"/>
    <xsl:text>&#xFDD0;P&#xFDD1;</xsl:text>
  </xsl:template>
  <xsl:template match="w:tbl" mode="block">
    <xsl:text>&#xFDD0;T&#xFDD1;</xsl:text>
    <xsl:apply-templates select="*" mode="table"/>
    <xsl:text>&#xFDD0;t&#xFDD1;</xsl:text>
  </xsl:template>
  <xsl:template match="w:sdt" mode="block">
    <xsl:text>&#xFDD0;B</xsl:text>
    <xsl:apply-templates select="w:sdtPr[1]" mode="settings"/>
    <xsl:text>&#xFDD1;</xsl:text>
    <xsl:if test="not(w:sdtPr[1]/w14:checkbox)">
      <xsl:apply-templates select="w:sdtContent[1]/*" mode="block"/>
    </xsl:if>
    <xsl:text>&#xFDD0;b&#xFDD1;</xsl:text>
  </xsl:template>
  <xsl:template match="w:hyperlink|w:ins|w:smartTag|w:customXml|w:fldSimple|w:moveTo|w:bdo|w:dir|w:sdtContent"
                mode="block">
    <xsl:apply-templates select="*" mode="block"/>
  </xsl:template>
  <xsl:template match="*" mode="block"/>

  <!-- tables: rows of cells, each cell's span and merge as met in its first w:tcPr -->
  <xsl:template match="w:tr" mode="table">
    <xsl:text>&#xFDD0;R</xsl:text>
    <xsl:value-of select="w:trPr[1]/w:gridBefore[1]/@w:val
                          | w:trPr[1]/w:gridBefore[1]/@*[local-name() = 'val'][not(../@w:val)][1]"/>
    <xsl:text>&#xFDD1;</xsl:text>
    <xsl:apply-templates select="*" mode="row"/>
    <xsl:text>&#xFDD0;r&#xFDD1;</xsl:text>
  </xsl:template>
  <xsl:template match="w:tc" mode="row">
    <xsl:text>&#xFDD0;C</xsl:text>
    <xsl:apply-templates select="w:tcPr[1]/*" mode="cell"/>
    <xsl:text>&#xFDD1;</xsl:text>
    <xsl:apply-templates select="*" mode="block"/>
    <xsl:text>&#xFDD0;c&#xFDD1;</xsl:text>
  </xsl:template>
  <xsl:template match="w:gridSpan|w:vMerge" mode="cell">
    <xsl:text>&#xFDD2;</xsl:text>
    <xsl:value-of select="local-name()"/>
    <xsl:text>&#xFDD3;</xsl:text>
    <xsl:value-of select="@w:val | @*[local-name() = 'val'][not(../@w:val)][1]"/>
  </xsl:template>
  <xsl:template match="w:sdt|w:customXml" mode="table">&#xFDD0;!&#xFDD1;</xsl:template>
  <xsl:template match="w:sdt|w:customXml" mode="row">&#xFDD0;!&#xFDD1;</xsl:template>
  <xsl:template match="*" mode="table"/>
  <xsl:template match="*" mode="row"/>
  <xsl:template match="*" mode="cell"/>

  <!-- inside a paragraph: runs, inline content controls, see-through containers -->
  <xsl:template match="w:r" mode="inline">
    <xsl:apply-templates select="*" mode="run"/>
  </xsl:template>
  <xsl:template match="w:sdt" mode="inline">
    <xsl:text>&#xFDD0;I</xsl:text>
    <xsl:apply-templates select="w:sdtPr[1]" mode="settings"/>
    <xsl:text>&#xFDD1;</xsl:text>
    <xsl:if test="not(w:sdtPr[1]/w14:checkbox | w:sdtPr[1]/w:showingPlcHdr)">
      <xsl:apply-templates select="w:sdtContent[1]/*" mode="inline"/>
    </xsl:if>
    <xsl:text>&#xFDD0;i&#xFDD1;</xsl:text>
  </xsl:template>
  <xsl:template match="w:hyperlink|w:ins|w:smartTag|w:customXml|w:fldSimple|w:moveTo|w:bdo|w:dir|w:sdtContent"
                mode="inline">
    <xsl:apply-templates select="*" mode="inline"/>
  </xsl:template>
  <!-- Text boxes' alternatives and equations, which docx_walk reads and this pass does not. -->
  <xsl:template match="mc:AlternateContent|m:*|ms:*" mode="inline">&#xFDD0;!&#xFDD1;</xsl:template>
  <xsl:template match="*" mode="inline"/>

  <!-- a run's children: what it says; its properties only when they mark it -->
  <xsl:template match="w:t" mode="run">
    <xsl:if test="*">&#xFDD0;!&#xFDD1;</xsl:if>
    <xsl:value-of select="."/>
  </xsl:template>
  <xsl:template match="w:tab" mode="run"><xsl:text>&#9;</xsl:text></xsl:template>
  <xsl:template match="w:br|w:cr" mode="run"><xsl:text>&#10;</xsl:text></xsl:template>
  <xsl:template match="w:noBreakHyphen" mode="run">-</xsl:template>
  <xsl:template match="w:rPr" mode="run">
    <xsl:if test="w:strike or w:dstrike or w:highlight or w:shd">&#xFDD0;!&#xFDD1;</xsl:if>
  </xsl:template>
  <xsl:template match="w:fldChar" mode="run">&#xFDD0;!&#xFDD1;</xsl:template>
  <xsl:template match="*" mode="run"/>

  <!-- A content control's properties: "1", then each setting docx_walk asks about, as met. -->
  <xsl:template match="w:sdtPr" mode="settings">
    <xsl:text>1</xsl:text>
    <xsl:apply-templates select="*" mode="setting"/>
  </xsl:template>
  <xsl:template match="w:tag|w:alias" mode="setting">
    <xsl:text>&#xFDD2;</xsl:text>
    <xsl:value-of select="local-name()"/>
    <xsl:text>&#xFDD3;</xsl:text>
    <xsl:value-of select="@w:val | @*[local-name() = 'val'][not(../@w:val)][1]"/>
  </xsl:template>
  <xsl:template match="w:date" mode="setting">
    <xsl:text>&#xFDD2;date&#xFDD3;</xsl:text>
    <xsl:value-of select="@w:fullDate | @*[local-name() = 'fullDate'][not(../@w:fullDate)][1]"/>
  </xsl:template>
  <xsl:template match="w:showingPlcHdr|w:text|w:picture|w:docPartObj|w:group" mode="setting">
    <xsl:text>&#xFDD2;</xsl:text>
    <xsl:value-of select="local-name()"/>
    <xsl:text>&#xFDD3;</xsl:text>
  </xsl:template>
  <!-- A check box: "N" without w14:checked, else "V" and that element's value. -->
  <xsl:template match="w14:checkbox" mode="setting">
    <xsl:text>&#xFDD2;checkbox&#xFDD3;</xsl:text>
    <xsl:choose>
      <xsl:when test="w14:checked">
        <xsl:text>V</xsl:text>
        <xsl:value-of select="w14:checked[1]/@w:val
                              | w14:checked[1]/@*[local-name() = 'val'][not(../@w:val)][1]"/>
      </xsl:when>
      <xsl:otherwise>N</xsl:otherwise>
    </xsl:choose>
  </xsl:template>
  <!-- A list: each entry U+FDD4 and its display text, else its value (docx_xml.sdt_kind). -->
  <xsl:template match="w:dropDownList|w:comboBox" mode="setting">
    <xsl:text>&#xFDD2;</xsl:text>
    <xsl:value-of select="local-name()"/>
    <xsl:text>&#xFDD3;</xsl:text>
    <xsl:for-each select="w:listItem">
      <xsl:text>&#xFDD4;</xsl:text>
      <xsl:choose>
        <xsl:when test="string(@w:displayText
                               | @*[local-name() = 'displayText'][not(../@w:displayText)][1])">
          <xsl:value-of select="@w:displayText
                                | @*[local-name() = 'displayText'][not(../@w:displayText)][1]"/>
        </xsl:when>
        <xsl:otherwise>
          <xsl:value-of select="@w:value | @*[local-name() = 'value'][not(../@w:value)][1]"/>
        </xsl:otherwise>
      </xsl:choose>
    </xsl:for-each>
  </xsl:template>
  <xsl:template match="*" mode="setting"/>
</xsl:stylesheet>
